-- tests/load/tally.lua: what every load script counts, loaded by
-- captcha.lua and sms.lua (dofile). Each wrk thread keeps its own counts;
-- done() adds them up and prints one "key value..." line per figure for
-- loadtest.sh to read.
--
-- Counted per reply: the HTTP status; for a JSON reply, the dialect's
-- code and its errmsg (lang = en in the load configuration, so the text
-- names which limit refused); per second of the wall clock, the replies
-- and the bad ones (a 5xx, or a JSON code of a failure: DBERR, SMSSENDERR,
-- an internal error). Limit refusals are not bad: the limits are doing
-- their job.

local threads = {}

-- setup: runs in the main state once per thread, before it starts.
function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

statuses = {}
codes = {}
persec = {}
badsec = {}

-- Codes of a failure, as the meiduo dialect writes them.
local failure = { ["5000"] = true, ["5010"] = true }

function response(status, headers, body)
	local bad = status >= 500
	statuses[status] = (statuses[status] or 0) + 1
	if string.byte(body, 1) == 123 then	-- "{": a JSON reply
		local c = string.match(body, '"code":%s*(%d+)') or
		    string.match(body, '"errno":%s*"(%d+)"') or "?"
		local m = string.match(body, '"errmsg":%s*"([^"]*)"') or ""
		local k = c .. " " .. m
		codes[k] = (codes[k] or 0) + 1
		if failure[c] then bad = true end
	end
	local s = os.time()
	persec[s] = (persec[s] or 0) + 1
	if bad then badsec[s] = (badsec[s] or 0) + 1 end
end

local function add(into, from)
	for k, v in pairs(from) do into[k] = (into[k] or 0) + v end
end

function done(summary, latency, requests)
	local st, cd, ps, bs = {}, {}, {}, {}
	for _, t in ipairs(threads) do
		add(st, t:get("statuses"))
		add(cd, t:get("codes"))
		add(ps, t:get("persec"))
		add(bs, t:get("badsec"))
	end
	local e = summary.errors
	io.write(string.format("requests %d\n", summary.requests))
	io.write(string.format("duration_us %d\n", summary.duration))
	io.write(string.format("rps %.1f\n",
	    summary.requests / (summary.duration / 1e6)))
	io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
	io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
	io.write(string.format("max_ms %.2f\n", latency.max / 1000))
	io.write(string.format("socket connect %d\nsocket read %d\n" ..
	    "socket write %d\nsocket timeout %d\n",
	    e.connect, e.read, e.write, e.timeout))
	io.write(string.format("non2xx %d\n", e.status))
	for k, v in pairs(st) do io.write(string.format("status %d %d\n", k, v)) end
	for k, v in pairs(cd) do io.write(string.format("code %d %s\n", v, k)) end
	for k, v in pairs(ps) do
		io.write(string.format("sec %d %d %d\n", k, v, bs[k] or 0))
	end
end

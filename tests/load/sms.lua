-- tests/load/sms.lua: wrk script for the meiduo SMS route,
-- GET /sms_codes/MOBILE/?image_code=ANSWER&uuid=ID.
--
--   wrk ... -s sms.lua URL -- TAG NIDS DIGIT REPEAT
--
-- The load cannot read a captcha image, so loadtest.sh has stored the
-- answers in Redis first: captcha ids ls-TAG-K for K in [0, NIDS), the
-- answer of K spelled by answer(K) below (the same rule as seed() in
-- loadtest.sh). Each request takes the next id of its thread (thread t of
-- T takes K = t, t + T, t + 2T ...), so no two requests share one while
-- NIDS lasts. The mobile of K is 1 DIGIT followed by K / REPEAT in 9
-- digits: REPEAT requests in a row, from every thread at once, ask for
-- one number; the first is sent and the resend interval (sms_interval)
-- refuses the others, as it refuses a person who asks again, however
-- close together they come.
--
-- LOAD_DIR (environment) is this folder, for tally.lua.
dofile(os.getenv("LOAD_DIR") .. "/tally.lua")

local charset = "369ACDEFHKLMNPRTUVW"
local tag, nids, digit, rep = "x", 1, 3, 1
local k, step = 0, 1

local function answer(n)
	local s = ""
	for _ = 1, 4 do
		local i = n % 19
		s = s .. string.sub(charset, i + 1, i + 1)
		n = math.floor(n / 19)
	end
	return s
end

function init(args)
	tag = args[1]
	nids = tonumber(args[2])
	digit = tonumber(args[3])
	rep = tonumber(args[4])
	step = tonumber(os.getenv("LOAD_THREADS") or "1")
	k = tid
end

function request()
	local id = k % nids
	k = k + step
	return wrk.format("GET", string.format(
	    "/sms_codes/1%d%09d/?image_code=%s&uuid=ls-%s-%d",
	    digit, math.floor(id / rep), answer(id), tag, id))
end

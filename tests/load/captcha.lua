-- tests/load/captcha.lua: wrk script for the meiduo captcha route, a new
-- id for every request (GET /image_codes/lt-TAG-THREAD-N/), so that each
-- one draws and stores a captcha as a visitor's would.
--
--   wrk ... -s captcha.lua URL -- TAG
--
-- LOAD_DIR (environment) is this folder, for tally.lua.
dofile(os.getenv("LOAD_DIR") .. "/tally.lua")

local n = 0
local tag = "x"

function init(args)
	tag = args[1] or tag
end

function request()
	n = n + 1
	return wrk.format("GET", string.format("/image_codes/lt-%s-%d-%d/",
	    tag, tid, n))
end

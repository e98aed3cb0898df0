-- tests/load/captcha.lua: wrk script for the meiduo captcha route, a new
-- id for every request (GET /image_codes/lt-TAG-THREAD-N/), so that each
-- one draws and stores a captcha as a visitor's would.
--
--   wrk ... -s captcha.lua URL -- TAG [PATH]
--
-- PATH, a format whose %s is the id, asks another route the same way:
-- "/image_codes/%s/audio" (the audio challenge), or the seed's Flask view
-- "/api/v1.0/image_codes/%s" (tests/bench/fcgi.sh). Default
-- "/image_codes/%s/".
--
-- LOAD_DIR (environment) is this folder, for tally.lua.
dofile(os.getenv("LOAD_DIR") .. "/tally.lua")

local n = 0
local tag = "x"
local path = "/image_codes/%s/"

function init(args)
	tag = args[1] or tag
	path = args[2] or path
end

function request()
	n = n + 1
	return wrk.format("GET", string.format(path,
	    string.format("lt-%s-%d-%d", tag, tid, n)))
end

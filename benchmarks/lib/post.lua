-- post.lua -- wrk script: POST a body of SIZE bytes of 'x' (h1_hello.sh's
-- post256 / post4k scenarios, against the servers' echo routes).
--
-- Usage: wrk -s post.lua URL [-- SIZE]   (SIZE defaults to 256)
--
-- init() sets the method, body and Content-Type once; wrk.init formats the
-- request after init() returns (adding Content-Length), so every request
-- is the same pre-built string.

function init(args)
  local size = tonumber(args[1]) or 256
  wrk.method = "POST"
  wrk.body = string.rep("x", size)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

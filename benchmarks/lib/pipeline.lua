-- pipeline.lua -- wrk script for HTTP/1.1 pipelining (benchmarks/h1_hello.sh).
--
-- Usage: wrk -s pipeline.lua URL [-- DEPTH]   (DEPTH defaults to 16)
--
-- init() builds DEPTH concatenated copies of `GET <path>` (wrk.format uses
-- the URL's path and any -H headers) and request() returns that one string,
-- so every write carries DEPTH requests. wrk parses the string once to learn
-- the depth and then waits for DEPTH responses before writing again; its
-- "requests" count is the number of *responses* parsed, i.e. it already
-- counts each pipelined request (h1_hello.sh cross-checks this against the
-- servers' own request counters).

local batch

function init(args)
  local depth = tonumber(args[1]) or 16
  local reqs = {}
  for i = 1, depth do
    reqs[i] = wrk.format("GET", wrk.path)
  end
  batch = table.concat(reqs)
end

function request()
  return batch
end

-- wrk script: the submissions of submit.lua, each connection waiting SUBMIT_DELAY_MS
-- milliseconds (wrk's delay()) before each request: a steady stream of at most
-- connections * 1000 / SUBMIT_DELAY_MS submissions a second (bench/mixed.sh). Without the
-- variable, or 0: as fast as the connections go.
dofile("bench/wrk/submit.lua")

local wait = tonumber(os.getenv("SUBMIT_DELAY_MS") or "0") or 0

if wait > 0 then
  function delay()
    return wait
  end
end

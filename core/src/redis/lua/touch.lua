-- Touch. KEYS: session, exp index, activity index. ARGV: member, ttl_ms[, touch_after_ms].
-- With touch_after_ms (a lazy touch), a session whose last activity (its activity index score)
-- is more recent than that by the server's clock is left as is.
-- Returns 0 when absent, 1 when touched, 2 when left as is.
local key, exp, act = KEYS[1], KEYS[2], KEYS[3]
local t = redis.call('TYPE', key).ok
if t == 'none' then return 0 end
local bad = check_session(key, t)
if bad then return bad end
local now = now_ms()
if ARGV[3] then
  local last = redis.call('ZSCORE', act, ARGV[1])
  if last and now - tonumber(last) < tonumber(ARGV[3]) then return 2 end
end
stamp(key, exp, act, ARGV[1], tonumber(ARGV[2]), now)
return 1

-- Touch, optionally returning the session. KEYS: session, exp index, activity index.
-- ARGV: member, ttl_ms, mode (touch|get). Returns 0 / nil when absent.
local key, exp, act = KEYS[1], KEYS[2], KEYS[3]
local t = redis.call('TYPE', key).ok
if t == 'none' then
  if ARGV[3] == 'get' then return false end
  return 0
end
local bad = check_session(key, t)
if bad then return bad end
stamp(key, exp, act, ARGV[1], tonumber(ARGV[2]), now_ms())
if ARGV[3] == 'get' then return redis.call('HGETALL', key) end
return 1

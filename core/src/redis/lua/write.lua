-- Whole-session write. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, mode (set|cas|nx), expected version ('0' = absent), has createdAt (1|0),
--       size, field/value pairs...
-- Returns {1, version} when written ({1, version, HGETALL} in nx mode), {0} when not written and absent, {0, HGETALL} otherwise.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, mode, expected = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local t = redis.call('TYPE', key).ok
local current = '0'
if t ~= 'none' and mode ~= 'set' then
  local bad = check_session(key, t)
  if bad then return bad end
  current = redis.call('HGET', key, META_VERSION) or '0'
end
if (mode == 'cas' and current ~= expected) or (mode == 'nx' and t ~= 'none') then
  if t == 'none' then return {0} end
  return {0, redis.call('HGETALL', key)}
end
local created = nil
if ARGV[5] ~= '1' and t == 'hash' then
  created = redis.call('HGET', key, 'createdAt') or nil
end
local now = now_ms()
local version = write_fields(key, seq, 7, ARGV[5], created, ARGV[6], now)
index(key, exp, act, member, ttl, now)
if mode == 'nx' then return {1, version, redis.call('HGETALL', key)} end
return {1, version}

-- Whole-session write. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, mode (set|cas|nx), expected version ('0' = absent), has createdAt (1|0),
--       size, field/value pairs...
-- Returns {1, version} when written ({1, version, HGETALL} in nx mode), {0} when not written and
-- absent, {0, HGETALL} otherwise.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, mode, expected = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local exists, current = false, '0'
if mode ~= 'set' then
  -- One read of the meta fields (a key of another type fails here with WRONGTYPE).
  local meta = redis.call('HMGET', key, META_FORMAT, META_VERSION)
  if meta[1] then
    if meta[1] ~= FORMAT then
      return corrupt('unknown session format ' .. meta[1])
    end
    exists, current = true, meta[2] or '0'
  elseif redis.call('EXISTS', key) == 1 then
    return corrupt('not a poto-sessions hash (no format field)')
  end
  if (mode == 'cas' and current ~= expected) or (mode == 'nx' and exists) then
    if not exists then return {0} end
    return {0, redis.call('HGETALL', key)}
  end
end
-- Keep the stored createdAt when the new session has none (a key of another type is replaced).
local created = nil
if ARGV[5] ~= '1' and (exists or redis.call('TYPE', key).ok == 'hash') then
  created = redis.call('HGET', key, 'createdAt') or nil
end
local now = now_ms()
local version = write_fields(key, seq, 7, ARGV[5], created, ARGV[6], now)
index(key, exp, act, member, ttl, now)
if mode == 'nx' then return {1, version, redis.call('HGETALL', key)} end
return {1, version}

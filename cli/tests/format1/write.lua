-- Whole-session write. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, mode (set|cas|nx|delta), expected version ('0' = absent), then
--   set|cas|nx: has createdAt (1|0), size, field/value pairs...
--   delta: number of removed fields n, size, n removed field names, changed field/value pairs...
--     (a compare-and-set by a caller that holds the session at `expected`: only what changed)
-- Returns {1, version} when written ({1, version, HGETALL} in nx mode), {0} when not written and
-- absent, {0, HGETALL} otherwise.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, mode, expected = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
if mode ~= 'set' then
  -- One read of the meta fields (a key of another type fails here with WRONGTYPE).
  local meta = redis.call('HMGET', key, META_FORMAT, META_VERSION)
  local exists, current = false, '0'
  if meta[1] then
    if meta[1] ~= FORMAT then
      return corrupt('unknown session format ' .. meta[1])
    end
    exists, current = true, meta[2] or '0'
  elseif redis.call('EXISTS', key) == 1 then
    return corrupt('not a poto-sessions hash (no format field)')
  end
  if (mode ~= 'nx' and current ~= expected) or (mode == 'nx' and exists) then
    if not exists then return {0} end
    return {0, redis.call('HGETALL', key)}
  end
end
local now = now_ms()
local version
if mode == 'delta' then
  -- The stored fields are the caller's at `expected` (only a touch's lastActivity differs).
  local removed = tonumber(ARGV[5])
  version = redis.call('INCR', seq)
  local fields = {META_VERSION, int(version), META_SIZE, ARGV[6], 'lastActivity', iso(now)}
  for i = 7 + removed, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  in_chunks('HSET', key, fields, 1)
  if removed > 0 then
    local gone = {}
    for i = 7, 6 + removed do
      gone[#gone + 1] = ARGV[i]
    end
    in_chunks('HDEL', key, gone, 1)
  end
else
  version = write_fields(key, seq, 7, ARGV[5], ARGV[6], now)
end
index(key, exp, act, member, ttl, now, version)
if mode == 'nx' then return {1, version, redis.call('HGETALL', key)} end
return {1, version}

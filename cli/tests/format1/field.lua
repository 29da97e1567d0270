-- One top-level field. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, max size, field, value[, has createdAt (1|0), size, default pairs...]
-- Without defaults an absent session is left absent (returns 0). Returns 1 when written.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local field, value = ARGV[4], ARGV[5]
local t = redis.call('TYPE', key).ok
local now = now_ms()
if t == 'none' then
  if #ARGV < 7 then return 0 end
  write_fields(key, seq, 8, ARGV[6], ARGV[7], now)
else
  local bad = check_session(key, t)
  if bad then return bad end
end
local size = tonumber(redis.call('HGET', key, META_SIZE) or '0')
local old = redis.call('HSTRLEN', key, field)
if old > 0 then -- stored values are JSON text, never empty
  size = size - #field - old
end
size = size + #field + #value
if size > max then
  if t == 'none' then redis.call('DEL', key) end
  return redis.error_reply('POTOTOOLARGE session would be ' .. int(size) .. ' bytes, the limit is ' .. int(max))
end
local version = redis.call('INCR', seq)
redis.call('HSET', key, field, value, META_SIZE, int(size), META_VERSION, int(version), 'lastActivity', iso(now))
index(key, exp, act, member, ttl, now, version)
return 1

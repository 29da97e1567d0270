-- Whole-session write. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, mode (set|cas|nx), expected version ('0' = absent), createdAt JSON
-- text ('' = keep the stored one, else stamp now), tail: the other members and the closing
-- brace (',"k":v,...}' or '}').
-- Returns {1, version} when written ({1, version, value} in nx mode), {0} when not written and
-- absent, {0, value} otherwise.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, mode, expected, created = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local head = ''
if mode ~= 'set' or created == '' then
  -- The header and, in the same call, a server-stamped createdAt.
  local bad
  head, bad = head_of(key, CREATED_AT + 26)
  if bad then
    if mode ~= 'set' then return bad end
    head = ''
  end
  if mode ~= 'set' then
    local exists = head ~= ''
    if (mode == 'cas' and (exists and tonumber(version_of(head)) or 0) ~= tonumber(expected))
        or (mode == 'nx' and exists) then
      if not exists then return {0} end
      return {0, redis.call('GET', key)}
    end
  end
end
local now = now_ms()
if created == '' then
  if head ~= '' then created = created_of(key, head) else created = iso(now) end
end
local version = redis.call('INCR', seq)
put_value(key, version, created, now, ARGV[6], ttl)
index(exp, act, member, ttl, now, version)
if mode == 'nx' then return {1, version, redis.call('GET', key)} end
return {1, version}

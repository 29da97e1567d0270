-- Whole-session write. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, mode (set|cas|nx), expected version ('0' = absent), createdAt JSON
-- text ('' = keep the stored one, else stamp now), tail: the other members and the closing
-- brace (',"k":v,...}' or '}'), the clock hint of `stamp` (optional).
-- Returns {1, version} when written ({1, version, value} in nx mode), {0} when not written and
-- absent, {0, value} otherwise.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, mode, expected, created = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
-- The header and, in the same call, a server-stamped createdAt.
local head, bad = head_of(key, CREATED_AT + 26)
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
local now = now_ms()
local stamped = stamp(now, ARGV[7])
if created == '' then
  if head ~= '' then created = created_of(key, head) else created = stamped end
end
local version = redis.call('INCR', seq)
-- Keep the index entries and the key's deadline (equal to the indexed one) when this write
-- would move neither by the slack: activity from the header, deadline from PTTL.
local indexed = head ~= '' and tonumber(string.sub(head, LA_AT + 1, HEADER_LEN))
local slack = math.min(INDEX_SLACK, floor(ttl / 16))
local left = indexed and now - indexed < slack and redis.call('PTTL', key)
if left and left > 0 and ttl >= left and ttl - left < slack then
  put_value(key, version, created, indexed, stamped, ARGV[6], nil)
  if version % PRUNE_EVERY == 0 then prune(exp, act, now, PRUNE_BATCH) end
else
  put_value(key, version, created, now, stamped, ARGV[6], ARGV[2])
  index(exp, act, member, ttl, now, version)
end
if mode == 'nx' then return {1, version, redis.call('GET', key)} end
return {1, version}

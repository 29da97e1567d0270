-- Whole-session write. KEYS: session, exp index, activity index, version sequence.
-- ARGV: member, ttl_ms, mode (set|cas|nx), expected version ('0' = absent), createdAt JSON
-- text ('' = keep the stored one, else stamp now), tail: the other members and the closing
-- brace (',"k":v,...}' or '}'), the clock hint of `stamp` (optional).
-- Returns {1, version} when written ({1, version, value} in nx mode), {0} when not written and
-- absent, {0, value} otherwise.
-- The hot path is written out here rather than in helpers: every helper is rebuilt on each call.
local key, exp, act, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, ttl, mode, expected, created, tail = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- The header and, in the same call, a server-stamped createdAt.
local head, bad = head_of(key, CREATED_AT + 26)
if bad then
  if mode ~= 'set' then return bad end
  head = ''
end
if mode ~= 'set' then
  local exists = head ~= ''
  if (mode == 'cas' and (exists and tonumber(string.sub(head, 5, 20)) or 0) ~= tonumber(expected))
      or (mode == 'nx' and exists) then
    if not exists then return {0} end
    return {0, redis.call('GET', key)}
  end
end
local now = now_ms()
local stamped = stamp(now, ARGV[7])
if created == '' then
  if head == '' then
    created = stamped
  else
    local len = tonumber(string.sub(head, 22, 29))
    if CREATED_AT + len <= #head then
      created = string.sub(head, CREATED_AT + 1, CREATED_AT + len)
    else
      created = redis.call('GETRANGE', key, CREATED_AT, CREATED_AT + len - 1)
    end
  end
end
local version = redis.call('INCR', seq)
-- Keep the index entries and the key's deadline (equal to the indexed one) when this write
-- would move neither by the slack: activity from the header, deadline from PTTL.
local indexed = head ~= '' and tonumber(string.sub(head, LA_AT + 1, HEADER_LEN))
local slack = math.min(INDEX_SLACK, math.floor(ttl / 16))
local left = indexed and now - indexed < slack and redis.call('PTTL', key)
local keep = left and left > 0 and ttl >= left and ttl - left < slack
if not keep then indexed = now end
-- Header (with `indexed`, the activity index's score), the JSON's timestamps, then the tail as
-- the client sent it. A large tail is appended by Redis instead of joined in Lua, which copies
-- it twice more (docs: Measurements).
local header = string.format('PS2 %016d %08d %013d{"lastActivity":%s,"createdAt":', version, #created,
  indexed, stamped)
local big = #tail > 4096
local value = big and header .. created or header .. created .. tail
if keep then
  redis.call('SET', key, value, 'KEEPTTL')
else
  redis.call('SET', key, value, 'PX', ARGV[2])
end
if big then redis.call('APPEND', key, tail) end
if not keep then
  index(exp, act, member, ttl, now, version)
elseif version % PRUNE_EVERY == 0 then
  prune(exp, act, now, PRUNE_BATCH)
end
if mode == 'nx' then return {1, version, redis.call('GET', key)} end
return {1, version}

-- Per-shard maintenance. KEYS: exp index, activity index.
-- ARGV: mode (count|list|cleanup|clear), session key base, max age ms (list: the page's lowest
-- expiry deadline), batch limit (list: page size).
-- count: live sessions. list: a page of live members with their deadlines. cleanup: {removed, more}. clear: {removed, more}.
local exp, act = KEYS[1], KEYS[2]
local mode, base, limit = ARGV[1], ARGV[2], tonumber(ARGV[4])
local now = now_ms()
if mode == 'count' then
  return redis.call('ZCOUNT', exp, int(now), '+inf')
end
if mode == 'list' then
  -- Every member at the deadline `from`, then up to `limit` above it: a page never resumes in
  -- the middle of one deadline's members, so a member touched or deleted between pages cannot
  -- shift another out of view (the client drops the repeats).
  local from = math.max(tonumber(ARGV[3]), now)
  local page = redis.call('ZRANGEBYSCORE', exp, int(from), int(from), 'WITHSCORES')
  local above = redis.call('ZRANGEBYSCORE', exp, '(' .. int(from), '+inf', 'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #above do
    page[#page + 1] = above[i]
  end
  return page
end
local pruned = prune(exp, act, now, limit)
local victims
if mode == 'cleanup' then
  victims = redis.call('ZRANGEBYSCORE', act, '-inf', '(' .. int(now - tonumber(ARGV[3])), 'LIMIT', 0, limit)
else
  victims = redis.call('ZRANGE', act, 0, limit - 1)
end
local removed = 0
for _, member in ipairs(victims) do
  removed = removed + redis.call('DEL', base .. member)
end
if #victims > 0 then
  redis.call('ZREM', exp, unpack(victims))
  redis.call('ZREM', act, unpack(victims))
end
local more = 0
if #victims == limit or pruned == limit then more = 1 end
return {removed, more}

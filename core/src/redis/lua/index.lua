-- Integer text ('%d': Redis formats a Lua number argument with the far slower '%.17g').
local function int(x)
  return string.format('%d', x)
end

-- Forgets index entries of sessions Redis has already expired.
local function prune(exp, act, now, limit)
  local gone = redis.call('ZRANGEBYSCORE', exp, '-inf', '(' .. int(now), 'LIMIT', 0, limit)
  if #gone > 0 then
    redis.call('ZREM', exp, unpack(gone))
    redis.call('ZREM', act, unpack(gone))
  end
  return #gone
end

-- Indexes the session, in the caller's step. `version` is the write's new version (nil for a
-- touch, which adds no index entry and so does not prune).
local function index(exp, act, member, ttl, now, version)
  redis.call('ZADD', exp, int(now + ttl), member)
  redis.call('ZADD', act, int(now), member)
  if version and version % PRUNE_EVERY == 0 then
    prune(exp, act, now, PRUNE_BATCH)
  end
end

-- Touch. KEYS: session, exp index, activity index. ARGV: member, ttl_ms, mode ('touch'),
-- touch_after_ms: touch only when the stored lastActivity is at least that old by this server's
-- clock ('0' = always; a lazy touch passes the module's touch_after), the clock hint of `stamp`
-- (optional).
-- Returns 0 absent, 1 touched, 2 fresh (nothing written).
local key, exp, act = KEYS[1], KEYS[2], KEYS[3]
local ttl, after = tonumber(ARGV[2]), tonumber(ARGV[4] or '0')
local head, bad = head_of(key, HEADER_LEN)
if bad then return bad end
if head == '' then return 0 end
local last = tonumber(string.sub(head, LA_AT + 1, HEADER_LEN))
if not last then return redis.error_reply('POTOCORRUPT not a poto-sessions format-2 session') end
local now = now_ms()
if after > 0 and now - last < after then return 2 end
-- One SETRANGE stamps the header's ms and the JSON's lastActivity, which follow each other.
local stamped = stamp(now, ARGV[5])
redis.call('SETRANGE', key, LA_AT, string.format('%013d{"lastActivity":%s', now, stamped))
redis.call('PEXPIRE', key, ttl)
index(exp, act, ARGV[1], ttl, now, nil)
return 1

-- Delete one session and its index entries. KEYS: session, exp index, activity index. ARGV: member.
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('DEL', KEYS[1])

-- Per-prefix format marker, so instances of another format fail loudly instead of misreading.
-- KEYS: meta key. ARGV: this client's format description. Returns the stored description.
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return v

-- The first `n` bytes of a session key: '' when absent; nil and an error reply (the client maps
-- 'POTOCORRUPT' to its typed error) when the key is not a format-2 session.
local function head_of(key, n)
  local head = redis.pcall('GETRANGE', key, 0, n - 1)
  if type(head) == 'table' then
    local kind = redis.call('TYPE', key).ok
    if kind == 'hash' then
      return nil, redis.error_reply('POTOCORRUPT a format-1 session hash: this release stores format 2, '
        .. 'run `poto-sessions-admin migrate`')
    end
    return nil, redis.error_reply('POTOCORRUPT key holds a ' .. kind .. ', not a session')
  end
  if head ~= '' and (#head < HEADER_LEN or string.sub(head, 1, 4) ~= 'PS2 ') then
    return nil, redis.error_reply('POTOCORRUPT not a poto-sessions format-2 session')
  end
  return head, nil
end

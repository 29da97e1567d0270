-- The server's clock (docs §4).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- lastActivity's JSON text for `now` (ms), exactly as Date.toISOString() prints it: from `hint`,
-- the client's text of the second it expects the server's clock to be in
-- ('<unix seconds> <YYYY-MM-DDTHH:MM:SS>'), when that is now's second; otherwise by the calendar
-- arithmetic (civil-from-days), which costs a tenth of a write. The stamp is the server's either way.
local function stamp(now, hint)
  local floor = math.floor
  local secs = floor(now / 1000)
  if hint and tonumber(string.sub(hint, 1, -21)) == secs then
    return string.format('"%s.%03dZ"', string.sub(hint, -19), now - secs * 1000)
  end
  local days = floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"', y, m, d,
    floor(rem / 3600), floor(rem % 3600 / 60), rem % 60, now - secs * 1000)
end

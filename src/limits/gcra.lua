-- One key's bucket for one policy, shared by every node: GCRA with a burst, and for policies
-- with a lockout (logins) a refusal that locks the key out for a time doubling with each
-- refusal. Times are microseconds of Redis's own clock, so nodes' clocks do not matter.
-- KEYS[1]: the bucket. ARGV: interval, capacity (interval x burst), cost, lockout base,
-- lockout max (0 0: no lockout).
-- Returns {allowed (0/1), remaining, reset, retry after}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local lock_base = tonumber(ARGV[4])
local lock_max = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tat', 'locked', 'strikes')
local tat = math.max(tonumber(state[1]) or now, now)
local locked = tonumber(state[2]) or 0
local strikes = tonumber(state[3]) or 0

local function keep(until_at)
  redis.call('PEXPIRE', KEYS[1], math.floor((until_at - now) / 1000) + 1000)
end

if locked > now then
  return {0, 0, math.floor(tat - now), math.floor(locked - now)}
end
local new_tat = tat + interval * cost
local allowed_from = new_tat - capacity
if allowed_from > now then
  local wait = allowed_from - now
  if lock_base > 0 then
    local lock = math.min(lock_base * (2 ^ math.min(strikes, 20)), lock_max)
    wait = math.max(wait, lock)
    redis.call('HSET', KEYS[1], 'tat', tat, 'locked', now + wait, 'strikes', strikes + 1)
    keep(math.max(tat, now + wait) + lock_max)
  end
  return {0, 0, math.floor(tat - now), math.floor(wait)}
end
redis.call('HSET', KEYS[1], 'tat', new_tat)
keep(math.max(new_tat, locked) + lock_max)
local remaining = math.floor((capacity - (new_tat - now)) / interval)
return {1, math.max(remaining, 0), math.floor(new_tat - now), 0}

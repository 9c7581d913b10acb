-- acquire: take a half-open trial lease, if one of half_open_trials is free.
-- A lease is a zset member scored with its expiry, so a holder that never
-- reports cannot wedge the route: its lease lapses after trial_lease_ms.
-- ARGV[5] lease token.  Returns granted = true when the lease was granted.
local token = ARGV[OP]
begin()
read_window()
local granted = false
if s.state == 'half_open' then
  redis.call('ZREMRANGEBYSCORE', K_LEASE, '-inf', NOW)
  if redis.call('ZCARD', K_LEASE) < P.half_open_trials then
    redis.call('ZADD', K_LEASE, NOW + P.trial_lease_ms, token)
    redis.call('PEXPIRE', K_LEASE, P.trial_lease_ms)
    granted = true
  end
end
return finish(granted)

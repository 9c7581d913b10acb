-- records: the Redis clock, then the fields ARGV of each state hash of KEYS, in one
-- reply (BreakerStore.records): a read of many routes at the cost of one command.
-- KEYS the routes' state hashes.  ARGV the fields to read (HMGET's order).
local out = {redis.call('TIME')}
for i = 1, #KEYS do
  out[i + 1] = redis.call('HMGET', KEYS[i], unpack(ARGV))
end
return out

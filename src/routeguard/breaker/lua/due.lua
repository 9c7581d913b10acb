-- due: routes whose open time has ended, by the Redis clock.
-- KEYS[1] open-until index zset.  ARGV[1] the most to return.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))

-- probe_buckets (after bucket_codec.lua): count one probe in its route's minute, hour and day buckets.
-- Each bucket is ONE hash field `<kind><number>` (m, h, d; number = floor(ms / size))
-- holding 'good,bad,samples[,bin:count...]': the availability counts, the TTFT sample
-- count and the sparse TTFT histogram (routeguard/uptime/histogram.py), bins ascending.
-- KEYS[1] the route's probe bucket hash
-- ARGV[1] good (0|1)  ARGV[2] bad (0|1)  ARGV[3] TTFT bin (-1: no TTFT)
-- ARGV[4] the time in ms ('' = Redis TIME)
-- ARGV[5] 'kind:size_ms:keep,...' (BUCKETS in buckets.py)  ARGV[6] TTL of the hash (ms)
-- KEYS[2], ARGV[7], ARGV[8] (optional): the last-probes hash, the job's field and its
-- record, set in the same call (one round trip a probe for both).
local K = KEYS[1]
local GOOD, BAD, BIN = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Returns true when the bucket is new (then stale buckets are looked for).
local function bump(field)
  local packed = redis.call('HGET', K, field)
  local counts, bins = decode(packed)
  counts[1], counts[2] = counts[1] + GOOD, counts[2] + BAD
  if BIN >= 0 then
    counts[3] = counts[3] + 1
    bins[BIN] = (bins[BIN] or 0) + 1
  end
  redis.call('HSET', K, field, encode(counts, bins))
  return not packed
end

local kinds, fresh = {}, false
for kind, size, keep in string.gmatch(ARGV[5], '(%a):(%d+):(%d+)') do
  local current = math.floor(now / tonumber(size))
  kinds[kind] = current - tonumber(keep)
  if bump(kind .. current) then fresh = true end
end
redis.call('HSETNX', K, 'since', now)
-- Once per new bucket (about once a minute), drop the buckets past their keep.
if fresh then
  local stale = {}
  for _, name in ipairs(redis.call('HKEYS', K)) do
    local oldest = kinds[string.sub(name, 1, 1)]
    if oldest and tonumber(string.sub(name, 2)) <= oldest then stale[#stale + 1] = name end
  end
  if #stale > 0 then redis.call('HDEL', K, unpack(stale)) end
end
redis.call('PEXPIRE', K, ARGV[6])
if KEYS[2] then redis.call('HSET', KEYS[2], ARGV[7], ARGV[8]) end
return 0

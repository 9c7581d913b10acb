-- probe_windows (after bucket_codec.lua): a route's probe buckets summed per window, so a
-- read moves five packed values per route instead of every bucket.
-- KEYS[1] the route's probe bucket hash
-- ARGV[1] the time in ms  ARGV[2] 'kind:size_ms,...'  ARGV[3] 'kind:buckets,...', one per window
-- Returns {since (first probe, ms; '0' never), packed sum of each window in ARGV[3]'s order}.
local K, now = KEYS[1], tonumber(ARGV[1])
local sizes, windows = {}, {}
for kind, size in string.gmatch(ARGV[2], '(%a):(%d+)') do sizes[kind] = tonumber(size) end
for kind, count in string.gmatch(ARGV[3], '(%a):(%d+)') do
  local current = math.floor(now / sizes[kind])
  windows[#windows + 1] = {kind = kind, first = current - tonumber(count) + 1, last = current,
                           counts = {0, 0, 0}, bins = {}}
end

local function add(w, counts, bins)
  for i = 1, 3 do w.counts[i] = w.counts[i] + counts[i] end
  for b, c in pairs(bins) do w.bins[b] = (w.bins[b] or 0) + c end
end

local raw, since = redis.call('HGETALL', K), '0'
for i = 1, #raw, 2 do
  local name = raw[i]
  if name == 'since' then
    since = raw[i + 1]
  else
    local kind, number = string.sub(name, 1, 1), tonumber(string.sub(name, 2))
    local counts, bins = nil, nil
    for _, w in ipairs(windows) do
      if w.kind == kind and number and number >= w.first and number <= w.last then
        if not counts then counts, bins = decode(raw[i + 1]) end
        add(w, counts, bins)
      end
    end
  end
end
local out = {since}
for _, w in ipairs(windows) do out[#out + 1] = encode(w.counts, w.bins) end
return out

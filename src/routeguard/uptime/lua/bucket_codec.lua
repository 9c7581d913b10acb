-- The packed value of one probe bucket, shared by probe_buckets.lua and probe_windows.lua:
-- 'good,bad,samples[,bin:count...]' (routeguard/uptime/buckets.py parses the same).
local function decode(packed)
  local counts, bins = {0, 0, 0}, {}
  if not packed then return counts, bins end
  local i = 0
  for item in string.gmatch(packed, '[^,]+') do
    i = i + 1
    if i <= 3 then
      counts[i] = tonumber(item)
    else
      local b, c = string.match(item, '^(%d+):(%d+)$')
      bins[tonumber(b)] = tonumber(c)
    end
  end
  return counts, bins
end

local function encode(counts, bins)
  local order, out = {}, {counts[1], counts[2], counts[3]}
  for b in pairs(bins) do order[#order + 1] = b end
  table.sort(order)
  for _, b in ipairs(order) do out[#out + 1] = b .. ':' .. bins[b] end
  return table.concat(out, ',')
end

-- routeguard breaker: shared prelude of record.lua, acquire.lua and force.lua.
-- Mirrors routeguard/breaker/model.py line for line; change both together.
--
-- KEYS[1] route state hash   KEYS[2] window hash      KEYS[3] trial lease zset
-- KEYS[4] events stream      KEYS[5] open-until index zset
-- KEYS[6] transition counts hash (field 'from>to', read at scrape time for metrics)
-- ARGV[1] route id  ARGV[2] pub/sub channel  ARGV[3] stream max length
-- ARGV[4] parameters, comma-separated (BreakerParams.as_arg)  ARGV[5..] the operation's own
local K_STATE, K_WINDOW, K_LEASE, K_EVENTS, K_OPEN = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_COUNTS = KEYS[6]
local ROUTE, CHANNEL, MAXLEN = ARGV[1], ARGV[2], ARGV[3]
local function numbers(csv)
  local out = {}
  for item in string.gmatch(csv, '[^,]+') do out[#out + 1] = tonumber(item) end
  return out
end
local P
do
  local v = numbers(ARGV[4])
  P = {bucket_ms = v[1], buckets = v[2], min_calls = v[3], failure_rate = v[4], slow_rate = v[5],
       consecutive = v[6], open_ms = v[7], open_max_ms = v[8], decay_ms = v[9],
       ho_successes = v[10], ho_trials = v[11], lease_ms = v[12], rate_min_ms = v[13]}
end
local OP = 5
local JITTER_SCALE, MAX_TRIPS = 10000, 32

-- The only clock: the Redis server's.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local TEXT_FIELDS = {state = true, reason = true, detail = true}
local FIELDS = {'state', 'reason', 'detail', 'since', 'version', 'open_until', 'trips',
                'decay_from', 'consecutive', 'trial_ok', 'rate_open'}
local s = {state = 'closed', reason = '', detail = '', since = 0, version = 0, open_until = 0,
           trips = 0, decay_from = 0, consecutive = 0, trial_ok = 0, rate_open = 0}
do
  local raw = redis.call('HGETALL', K_STATE)
  for i = 1, #raw, 2 do
    if TEXT_FIELDS[raw[i]] then s[raw[i]] = raw[i + 1] else s[raw[i]] = tonumber(raw[i + 1]) end
  end
end
local stored = {}  -- what the hash holds now: finish() writes only what changed
for _, name in ipairs(FIELDS) do stored[name] = s[name] end

local events = {}
local figures = {calls = 0, failures = 0, slow = 0}

local function read_window()
  local current = math.floor(NOW / P.bucket_ms)
  local raw = redis.call('HGETALL', K_WINDOW)
  local totals = {c = 0, f = 0, s = 0}
  local stale = {}
  for i = 1, #raw, 2 do
    local name = raw[i]
    if tonumber(string.sub(name, 2)) <= current - P.buckets then
      stale[#stale + 1] = name
    else
      local kind = string.sub(name, 1, 1)
      totals[kind] = totals[kind] + tonumber(raw[i + 1])
    end
  end
  if #stale > 0 then redis.call('HDEL', K_WINDOW, unpack(stale)) end
  figures = {calls = totals.c, failures = totals.f, slow = totals.s}
end

local function transition(to, reason, detail)
  local from = s.state
  s.state, s.reason, s.detail = to, reason, detail
  s.since = NOW
  s.version = s.version + 1
  local ev = {route = ROUTE, from = from, to = to, reason = reason, detail = detail,
              version = s.version, at_ms = NOW, open_until_ms = s.open_until, trips = s.trips,
              calls = figures.calls, failures = figures.failures, slow = figures.slow,
              consecutive = s.consecutive}
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*',
    'route', ROUTE, 'from', from, 'to', to, 'reason', reason, 'detail', detail,
    'version', s.version, 'at_ms', NOW, 'open_until_ms', s.open_until, 'trips', s.trips,
    'calls', figures.calls, 'failures', figures.failures, 'slow', figures.slow,
    'consecutive', s.consecutive)
  redis.call('PUBLISH', CHANNEL, cjson.encode(ev))
  redis.call('HINCRBY', K_COUNTS, from .. '>' .. to, 1)
  events[#events + 1] = ev
end

local function begin()
  if s.state == 'open' and s.open_until > 0 and s.open_until <= NOW then
    s.open_until = 0
    s.trial_ok = 0
    read_window()
    transition('half_open', 'open_expired', 'open time ended')
  end
  if s.state == 'closed' and s.trips > 0 then
    local steps = math.floor((NOW - s.decay_from) / P.decay_ms)
    if steps > 0 then
      s.trips = math.max(0, s.trips - steps)
      s.decay_from = s.decay_from + steps * P.decay_ms
    end
  end
end

local function open_route(reason, detail, until_kind, jitter, retry_ms)
  if until_kind == 'backoff' or until_kind == 'again' then
    -- A trip (closed -> open) counts; a failed trial reopens for the same time.
    if until_kind == 'backoff' then s.trips = math.min(s.trips + 1, MAX_TRIPS) end
    local d = math.min(P.open_ms * math.pow(2, math.max(s.trips, 1) - 1), P.open_max_ms)
    s.open_until = NOW + d + math.floor(d * jitter / JITTER_SCALE)
  elseif until_kind == 'retry' then
    s.open_until = NOW + retry_ms
  else
    s.open_until = 0
  end
  s.trial_ok = 0
  transition('open', reason, detail)
  s.consecutive = 0
end

local function close_route(reason, detail)
  s.open_until = 0
  s.rate_open = 0
  s.consecutive = 0
  s.trial_ok = 0
  s.decay_from = NOW
  transition('closed', reason, detail)
  redis.call('DEL', K_WINDOW)
  figures = {calls = 0, failures = 0, slow = 0}
end

local function finish(extra)
  local changed = {}
  for _, name in ipairs(FIELDS) do
    if s[name] ~= stored[name] then
      changed[#changed + 1] = name
      changed[#changed + 1] = s[name]
    end
  end
  if #changed > 0 then redis.call('HSET', K_STATE, unpack(changed)) end
  -- The index and the leases follow the state; both change only with it.
  if s.state ~= stored.state or s.open_until ~= stored.open_until then
    if s.state == 'open' and s.open_until > 0 then
      redis.call('ZADD', K_OPEN, s.open_until, ROUTE)
    else
      redis.call('ZREM', K_OPEN, ROUTE)
    end
  end
  if stored.state == 'half_open' and s.state ~= 'half_open' then redis.call('DEL', K_LEASE) end
  local snapshot = {state = s.state, reason = s.reason, detail = s.detail, since = s.since,
                    version = s.version, open_until = s.open_until, trips = s.trips,
                    consecutive = s.consecutive, trial_ok = s.trial_ok, calls = figures.calls,
                    failures = figures.failures, slow = figures.slow, now = NOW}
  return cjson.encode({snapshot = snapshot, events = events, extra = extra or false})
end

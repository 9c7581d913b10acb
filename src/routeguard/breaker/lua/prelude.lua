-- routeguard breaker: shared prelude of record.lua, acquire.lua and force.lua.
-- Mirrors routeguard/breaker/model.py line for line; change both together.
--
-- KEYS[1] route state hash   KEYS[2] window hash      KEYS[3] trial lease zset
-- KEYS[4] events stream      KEYS[5] open-until index zset
-- KEYS[6] transition counts hash (field 'from>to', read at scrape time for metrics)
-- KEYS[7] outage intervals zset (member 'start_ms:end_ms:class:reason', score end_ms)
-- ARGV[1] route id  ARGV[2] pub/sub channel  ARGV[3] stream max length
-- ARGV[4] parameters, comma-separated (BreakerParams.as_arg)  ARGV[5..] the operation's own
local K_STATE, K_WINDOW, K_LEASE, K_EVENTS, K_OPEN = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_COUNTS, K_OUTAGES = KEYS[6], KEYS[7]
local ROUTE, CHANNEL, MAXLEN = ARGV[1], ARGV[2], ARGV[3]
local function numbers(csv)
  local out = {}
  for item in string.gmatch(csv, '[^,]+') do out[#out + 1] = tonumber(item) end
  return out
end
local P  -- named as BreakerParams' fields
do
  local v = numbers(ARGV[4])
  P = {bucket_ms = v[1], buckets = v[2], min_calls = v[3], failure_rate = v[4], slow_rate = v[5],
       consecutive_failures = v[6], open_ms = v[7], open_max_ms = v[8], trip_decay_ms = v[9],
       half_open_successes = v[10], half_open_trials = v[11], trial_lease_ms = v[12],
       rate_limit_open_min_ms = v[13]}
end
local OP = 5
local JITTER_SCALE, MAX_TRIPS = 10000, 32

-- The only clock: the Redis server's.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- The state hash's fields (RouteRecord in model.py), with their values when absent.
local TEXT_FIELDS = {state = true, reason = true, detail = true, segment_class = true,
                     segment_reason = true}
local FIELDS = {'state', 'reason', 'detail', 'since_ms', 'version', 'open_until_ms', 'trips',
                'decay_from_ms', 'consecutive_failures', 'trial_successes', 'rate_open_ms',
                'outage_since_ms', 'tracked_since_ms', 'segment_class', 'segment_start_ms',
                'segment_reason'}
local s = {state = 'closed', reason = '', detail = '', since_ms = 0, version = 0,
           open_until_ms = 0, trips = 0, decay_from_ms = 0, consecutive_failures = 0,
           trial_successes = 0, rate_open_ms = 0, outage_since_ms = 0, tracked_since_ms = 0,
           segment_class = 'up', segment_start_ms = 0, segment_reason = ''}
-- Old field name -> current one (LEGACY_FIELDS in types.py): a hash written before the
-- rename is read through it, and finish() moves its values to the current names.
local LEGACY = {since = 'since_ms', open_until = 'open_until_ms', decay_from = 'decay_from_ms',
                consecutive = 'consecutive_failures', trial_ok = 'trial_successes',
                rate_open = 'rate_open_ms'}
local stored = {}  -- what the hash holds now, by current name: finish() writes what differs
local legacy_held = {}  -- old names the hash holds: finish() deletes them
do
  local raw = redis.call('HGETALL', K_STATE)
  local held = {}
  for i = 1, #raw, 2 do held[raw[i]] = raw[i + 1] end
  for _, name in ipairs(FIELDS) do
    if held[name] ~= nil then
      if TEXT_FIELDS[name] then s[name] = held[name] else s[name] = tonumber(held[name]) end
    end
    stored[name] = s[name]
  end
  for old, name in pairs(LEGACY) do
    if held[old] ~= nil then
      legacy_held[#legacy_held + 1] = old
      -- Read under the old name; stored nil, so finish() writes it under the current one.
      if held[name] == nil then s[name], stored[name] = tonumber(held[old]), nil end
    end
  end
  table.sort(legacy_held)
end

-- Time accounting (routeguard/uptime, docs/redis-schema.md): every state belongs to a class,
-- and each stretch of one class other than 'up' is kept, once it ends, as one member of
-- K_OUTAGES. A route that stays up costs nothing beyond tracked_since_ms.
local OUTAGE_KEEP_MS, OUTAGE_CAP = 91 * 86400000, 2000  -- OUTAGE_KEEP_MS, OUTAGE_CAP in model.py
local function admits(state) return state == 'closed' or state == 'forced_closed' end
local function class_of(to, reason, current)
  if admits(to) then return 'up' end
  if to == 'forced_open' then return 'forced' end
  if reason == 'auth_error' or reason == 'quota_exhausted' then return 'auth_quota' end
  -- A half-open spell or a failed trial goes on with the outage it belongs to.
  if (reason == 'open_expired' or reason == 'trial_failed')
      and (current == 'down' or current == 'auth_quota') then
    return current
  end
  return 'down'
end
-- The first script to touch a route starts its accounting (a hash from before the upgrade
-- included): nothing earlier is known, so coverage begins now.
if s.tracked_since_ms == 0 then
  s.tracked_since_ms = NOW
  if not admits(s.state) then
    s.segment_class, s.segment_start_ms, s.segment_reason = class_of(s.state, s.reason, 'down'), NOW, s.reason
    if s.outage_since_ms == 0 then
      if s.since_ms > 0 then s.outage_since_ms = s.since_ms else s.outage_since_ms = NOW end
    end
  end
end

-- Keep the outage set bounded: 91 days, at most OUTAGE_CAP members. When the cap drops
-- members, coverage (tracked_since_ms) starts at the oldest one kept.
local function trim_outages()
  redis.call('ZREMRANGEBYSCORE', K_OUTAGES, '-inf', NOW - OUTAGE_KEEP_MS)
  local extra = redis.call('ZCARD', K_OUTAGES) - OUTAGE_CAP
  if extra > 0 then
    redis.call('ZREMRANGEBYRANK', K_OUTAGES, 0, extra - 1)
    local oldest = redis.call('ZRANGE', K_OUTAGES, 0, 0)[1]
    s.tracked_since_ms = math.max(s.tracked_since_ms, tonumber(string.match(oldest, '^(%d+):')))
  end
end

local function account(to, reason)
  if admits(to) then
    s.outage_since_ms = 0
  elseif admits(s.state) then
    s.outage_since_ms = NOW
  end
  local class = class_of(to, reason, s.segment_class)
  if class == s.segment_class then return end
  if s.segment_class ~= 'up' and NOW > s.segment_start_ms then
    local member = string.format('%d:%d:%s:%s', s.segment_start_ms, NOW, s.segment_class,
                                 s.segment_reason)
    redis.call('ZADD', K_OUTAGES, NOW, member)
    trim_outages()
  end
  s.segment_class, s.segment_start_ms = class, NOW
  if class == 'up' then s.segment_reason = '' else s.segment_reason = reason end
end

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

-- An event's fields, in stream order (Transition.from_fields in types.py reads them).
local EVENT_FIELDS = {'route', 'from', 'to', 'reason', 'detail', 'version', 'at_ms',
                      'open_until_ms', 'trips', 'calls', 'failures', 'slow',
                      'consecutive_failures'}

local function transition(to, reason, detail)
  account(to, reason)
  local from = s.state
  s.state, s.reason, s.detail = to, reason, detail
  s.since_ms = NOW
  s.version = s.version + 1
  local ev = {route = ROUTE, from = from, to = to, reason = reason, detail = detail,
              version = s.version, at_ms = NOW, open_until_ms = s.open_until_ms, trips = s.trips,
              calls = figures.calls, failures = figures.failures, slow = figures.slow,
              consecutive_failures = s.consecutive_failures}
  local entry, message = {}, {}  -- both through EVENT_FIELDS: the same fields, always
  for _, name in ipairs(EVENT_FIELDS) do
    entry[#entry + 1] = name
    entry[#entry + 1] = ev[name]
    message[name] = ev[name]
  end
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', unpack(entry))
  redis.call('PUBLISH', CHANNEL, cjson.encode(message))
  redis.call('HINCRBY', K_COUNTS, from .. '>' .. to, 1)
  events[#events + 1] = message
end

local function begin()
  if s.state == 'open' and s.open_until_ms > 0 and s.open_until_ms <= NOW then
    s.open_until_ms = 0
    s.trial_successes = 0
    read_window()
    transition('half_open', 'open_expired', 'open time ended')
  end
  if s.state == 'closed' and s.trips > 0 then
    local steps = math.floor((NOW - s.decay_from_ms) / P.trip_decay_ms)
    if steps > 0 then
      s.trips = math.max(0, s.trips - steps)
      s.decay_from_ms = s.decay_from_ms + steps * P.trip_decay_ms
    end
  end
end

local function open_route(reason, detail, until_kind, jitter, retry_ms)
  if until_kind == 'backoff' or until_kind == 'again' then
    -- A trip (closed -> open) counts; a failed trial reopens for the same time.
    if until_kind == 'backoff' then s.trips = math.min(s.trips + 1, MAX_TRIPS) end
    local d = math.min(P.open_ms * math.pow(2, math.max(s.trips, 1) - 1), P.open_max_ms)
    s.open_until_ms = NOW + d + math.floor(d * jitter / JITTER_SCALE)
  elseif until_kind == 'retry' then
    s.open_until_ms = NOW + retry_ms
  else
    s.open_until_ms = 0
  end
  s.trial_successes = 0
  transition('open', reason, detail)
  s.consecutive_failures = 0  -- after the event, which shows the run that tripped it
end

local function close_route(reason, detail)
  s.open_until_ms = 0
  s.rate_open_ms = 0
  s.consecutive_failures = 0
  s.trial_successes = 0
  s.decay_from_ms = NOW
  transition('closed', reason, detail)
  redis.call('DEL', K_WINDOW)
  figures = {calls = 0, failures = 0, slow = 0}
end

-- Write what changed, and return {snapshot, events, granted}: the route after the script
-- (the hash's fields, the window's figures and now_ms), its transitions, and whether a
-- trial lease was granted (acquire.lua only).
local function finish(granted)
  local changed = {}
  local snapshot = {calls = figures.calls, failures = figures.failures, slow = figures.slow,
                    now_ms = NOW}
  for _, name in ipairs(FIELDS) do
    if s[name] ~= stored[name] then
      changed[#changed + 1] = name
      changed[#changed + 1] = s[name]
    end
    snapshot[name] = s[name]
  end
  if #changed > 0 then redis.call('HSET', K_STATE, unpack(changed)) end
  if #legacy_held > 0 then redis.call('HDEL', K_STATE, unpack(legacy_held)) end
  -- The index and the leases follow the state; both change only with it.
  if s.state ~= stored.state or s.open_until_ms ~= stored.open_until_ms then
    if s.state == 'open' and s.open_until_ms > 0 then
      redis.call('ZADD', K_OPEN, s.open_until_ms, ROUTE)
    else
      redis.call('ZREM', K_OPEN, ROUTE)
    end
  end
  if stored.state == 'half_open' and s.state ~= 'half_open' then redis.call('DEL', K_LEASE) end
  return cjson.encode({snapshot = snapshot, events = events, granted = granted})
end

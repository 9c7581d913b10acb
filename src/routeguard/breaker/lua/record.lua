-- record: one batch of outcomes for one route (a single outcome is a batch of one).
-- ARGV[5] counts, comma-separated: ok, slow, failures, trailing failures, rate limited,
--         retry-after ms (-1: none), auth errors, quota errors, jitter draw in [0, 1000)
-- ARGV[6] last failure class ('' none)  ARGV[7] trial lease token ('' none)
local b, jitter
do
  local v = numbers(ARGV[OP])
  -- named as OutcomeBatch's fields
  b = {ok = v[1], slow = v[2], failures = v[3], trailing_failures = v[4], rate_limited = v[5],
       retry_after_ms = v[6], auth_errors = v[7], quota_errors = v[8],
       last_failure = ARGV[OP + 1]}
  jitter = v[9]
end
local token = ARGV[OP + 2]

begin()

local calls = b.ok + b.failures
if calls > 0 then
  local current = math.floor(NOW / P.bucket_ms)
  redis.call('HINCRBY', K_WINDOW, 'c' .. current, calls)
  if b.failures > 0 then redis.call('HINCRBY', K_WINDOW, 'f' .. current, b.failures) end
  if b.slow > 0 then redis.call('HINCRBY', K_WINDOW, 's' .. current, b.slow) end
  redis.call('PEXPIRE', K_WINDOW, P.bucket_ms * (P.buckets + 1))
end
read_window()

if b.ok > 0 then
  s.consecutive_failures = b.trailing_failures
else
  s.consecutive_failures = s.consecutive_failures + b.failures
end

-- What the provider asked for (open_s when it gave nothing), at most open_max_s.
local function hinted_ms()
  local wanted = b.retry_after_ms
  if wanted < 0 then wanted = P.open_ms end
  return math.min(wanted, P.open_max_ms)
end

-- A rate-limited open lasts at least rate_limit_open_min_s, and each one in a row
-- (no close between) at least twice the last: a limit that outlives its own hint
-- (OpenAI's reset-requests: 6ms) is not re-probed every few milliseconds.
local function open_rate_limited()
  local floor = P.rate_limit_open_min_ms
  if s.rate_open_ms > 0 then floor = 2 * s.rate_open_ms end
  local r = math.min(math.max(hinted_ms(), floor), P.open_max_ms)
  open_route('rate_limited', string.format('retry after %d ms', r), 'retry', 0, r)
  s.rate_open_ms = r
end

local function decide_unusable()
  if b.auth_errors > 0 then
    open_route('auth_error', 'credentials rejected', 'none', 0, 0)
  elseif b.quota_errors > 0 then
    open_route('quota_exhausted', 'quota or credit exhausted', 'none', 0, 0)
  else
    return false
  end
  return true
end

local function decide_closed()
  if decide_unusable() then return end
  local w = figures
  if s.consecutive_failures >= P.consecutive_failures then
    open_route('consecutive_failures',
      string.format('%d consecutive failures, last %s', s.consecutive_failures, b.last_failure),
      'backoff', jitter, 0)
  elseif w.calls >= P.min_calls and w.failures / w.calls >= P.failure_rate then
    open_route('failure_rate',
      string.format('%d of %d calls failed in the window', w.failures, w.calls), 'backoff', jitter, 0)
  elseif w.calls >= P.min_calls and w.slow / w.calls >= P.slow_rate then
    open_route('slow_rate',
      string.format('%d of %d calls slow in the window', w.slow, w.calls), 'backoff', jitter, 0)
  elseif b.rate_limited > 0 then
    open_rate_limited()
  end
end

local function decide_half_open()
  if decide_unusable() then return end
  if b.failures > 0 then
    open_route('trial_failed', 'trial failed: ' .. b.last_failure, 'again', jitter, 0)
  elseif b.rate_limited > 0 then
    open_rate_limited()
  elseif b.ok > 0 then
    s.trial_successes = s.trial_successes + b.ok
    if s.trial_successes >= P.half_open_successes then
      close_route('trial_succeeded', string.format('%d trial successes', s.trial_successes))
    end
  end
end

local function decide_open()
  if s.reason == 'auth_error' or s.reason == 'quota_exhausted' then
    if b.ok > 0 and b.auth_errors == 0 and b.quota_errors == 0 then
      close_route('trial_succeeded', 'a call succeeded')
    end
  elseif b.rate_limited > 0 and s.open_until_ms > 0 then
    local deadline = NOW + hinted_ms()
    if deadline > s.open_until_ms then
      -- A later Retry-After extends the deadline, never shortens it.
      s.open_until_ms = deadline
      transition('open', 'rate_limited', string.format('retry after %d ms', deadline - NOW))
    end
  end
end

if s.state == 'closed' then
  decide_closed()
elseif s.state == 'half_open' then
  decide_half_open()
elseif s.state == 'open' then
  decide_open()
end
if token ~= '' then redis.call('ZREM', K_LEASE, token) end
return finish(false)

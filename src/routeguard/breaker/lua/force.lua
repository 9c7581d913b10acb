-- force: an operator override. ARGV[5] 'open' | 'closed' | 'auto'  ARGV[6] detail.
-- forced_open / forced_closed record outcomes but never move by themselves;
-- 'auto' hands a forced route back to the breaker, closed with a fresh window.
local target, detail = ARGV[OP], ARGV[OP + 1]
begin()
read_window()
if target == 'auto' then
  if s.state == 'forced_open' or s.state == 'forced_closed' then close_route('released', detail) end
else
  local to = 'forced_closed'
  if target == 'open' then to = 'forced_open' end
  if s.state ~= to then
    s.open_until_ms = 0
    s.trial_successes = 0
    transition(to, 'forced', detail)
  end
end
return finish(false)

-- connect_teacher: a TeacherApp connects (PresenceStore.connectTeacher).
-- KEYS: 1 alive, 2 directory, 3 org presence index, 4 live sockets, 5 deadlines, 6 cooldown,
--       7 continuity, 8 lesson_teacher_{lesson} (only when ARGV[11] names a lesson)
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 now ms, 7 epoch, 8 presence TTL s,
--       9 lesson TTL s, 10 deadlines member, 11 the lesson the caller expects ('' for none),
--       12 '1' when the caller found no cooldown in the database, else ''
-- Reply: {'cooldown', PTTL} | {'unverified'} when the store's cooldowns are not known to be
--        complete and ARGV[12] is '' | {'lesson', lesson} when ARGV[11] was not the teacher's
--        lesson | {'connected', change, lesson}; nothing is written but for 'connected'
if redis.call('EXISTS', KEYS[6]) == 1 then
  return { 'cooldown', redis.call('PTTL', KEYS[6]) }
end
-- A store that lost its data holds no cooldown key until the loss is reconciled from the
-- database (cooldowns_restored.lua): until then its silence proves nothing.
if ARGV[12] ~= '1' and redis.call('HGET', KEYS[7], 'cooldowns') ~= '1' then
  return { 'unverified' }
end
local session = read_session(KEYS[3], ARGV[2])
local alive = redis.call('EXISTS', KEYS[1]) == 1
local change
if not session then
  change = 'new_session'
elseif session.state == 'connect' then
  -- Not alive: its node died and nobody settled it yet; the session never ended.
  change = alive and 'another_device' or 'reconnect'
else
  -- Not alive: the grace period is over and the session is ending.
  change = alive and 'reconnect' or 'new_session'
end
local own = own_directory(KEYS[2], ARGV[4], ARGV[5])
local lesson = own and own.lesson_id
if not lesson and change ~= 'new_session' then lesson = session.lesson_id end
if (lesson or '') ~= ARGV[11] then return { 'lesson', lesson or '' } end

local now, ttl = tonumber(ARGV[6]), tonumber(ARGV[8])
local until_ms = now + ttl * 1000
if change == 'new_session' then
  session = { state = 'connect', since_ms = now }
elseif change == 'reconnect' then
  session.state = 'connect'
  session.since_ms = now
end
session.login_time = tonumber(ARGV[7])
session.lesson_id = lesson
write_session(KEYS[3], ARGV[2], session)
make_live(KEYS[1], KEYS[4], ARGV[3], now, until_ms, ttl, ARGV[7])
if change == 'another_device' then
  redis.call('ZADD', KEYS[5], 'GT', until_ms, ARGV[10])
else
  redis.call('ZADD', KEYS[5], until_ms, ARGV[10])
end
write_directory(KEYS[2], ARGV[3], ARGV[2], ARGV[5], ARGV[4], lesson)
if lesson then set_member(KEYS[8], ARGV[2], ARGV[3], ARGV[9]) end
return { 'connected', change, lesson or '' }

-- join_lesson: a socket joins a lesson (PresenceStore.joinLesson).
-- KEYS: 1 lesson_seat, 2 the caller's membership (lesson_teacher or lesson_student),
--       3 the other membership, 4 directory; a TeacherApp's also 5 org presence index,
--       6 live sockets
-- ARGV: 1 deadline, 2 user, 3 sid, 4 lesson, 5 lesson TTL s, 6 seat map JSON ('' for none)
-- Reply: {'needs_seat_map'} | {'joined', previous lesson or '', seat map JSON}
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[6] == '' then return { 'needs_seat_map' } end
  create_seat_map(KEYS[1], ARGV[6])
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
local entry = read_directory(KEYS[4])
-- A socket joining its lesson again (a page reload, a retried request) rewrites nothing.
if entry and entry.sid == ARGV[3] and entry.lesson_id ~= ARGV[4] then
  rewrite_directory(KEYS[4], entry, entry.sid, ARGV[4])
end
if #KEYS == 6 and redis.call('ZSCORE', KEYS[6], ARGV[3]) then
  local session = read_session(KEYS[5], ARGV[2])
  if session and session.lesson_id ~= ARGV[4] then
    session.lesson_id = ARGV[4]
    write_session(KEYS[5], ARGV[2], session)
  end
end
return { 'joined', entry and entry.lesson_id or '', seat_map_json(KEYS[1]) }

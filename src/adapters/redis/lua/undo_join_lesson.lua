-- undo_join_lesson: takes a join back (PresenceStore.undoJoinLesson).
-- KEYS: 1 the caller's membership, 2 directory; a TeacherApp's also 3 org presence index,
--       4 live sockets
-- ARGV: 1 deadline, 2 user, 3 sid, 4 lesson, 5 previous lesson ('' for none)
-- Reply: 1
local previous = ARGV[5] ~= '' and ARGV[5] or nil
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[1], ARGV[2]) end
local entry = read_directory(KEYS[2])
if entry and entry.sid == ARGV[3] then rewrite_directory(KEYS[2], entry, entry.sid, previous) end
if #KEYS == 4 and redis.call('ZSCORE', KEYS[4], ARGV[3]) then
  local session = read_session(KEYS[3], ARGV[2])
  if session and session.lesson_id == ARGV[4] then
    session.lesson_id = previous
    write_session(KEYS[3], ARGV[2], session)
  end
end
return 1

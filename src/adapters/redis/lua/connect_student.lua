-- connect_student: a StudentWeb connects (PresenceStore.connectStudent).
-- KEYS: 1 directory, 2 lesson_student_{lesson} (only when ARGV[7] names a lesson)
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 lesson TTL s,
--       7 the lesson the caller expects ('' for none)
-- Reply: {'lesson', lesson} when ARGV[7] was not the student's lesson (nothing written: call
--        again with that lesson's key) | {'connected', lesson}
local own = own_directory(KEYS[1], ARGV[4], ARGV[5])
local lesson = own and own.lesson_id
if (lesson or '') ~= ARGV[7] then return { 'lesson', lesson or '' } end
write_directory(KEYS[1], ARGV[3], ARGV[2], ARGV[5], ARGV[4], lesson)
if lesson then set_member(KEYS[2], ARGV[2], ARGV[3], ARGV[6]) end
return { 'connected', lesson or '' }

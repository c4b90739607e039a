DROP FUNCTION forum_search_common_matches(tsquery);

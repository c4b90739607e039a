-- Row-level security for the tables of the flashcard review log and favorites (migration 0007), which
-- came after the policies of 0009: both are private (learnstore.security.PRIVATE_TABLES).
ALTER TABLE flashcard_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_reviews_own_rows ON flashcard_reviews
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE favorites ENABLE ROW LEVEL SECURITY;
CREATE POLICY favorites_own_rows ON favorites
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));

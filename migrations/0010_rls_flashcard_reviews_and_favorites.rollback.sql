DROP POLICY favorites_own_rows ON favorites;
ALTER TABLE favorites DISABLE ROW LEVEL SECURITY;
DROP POLICY flashcard_reviews_own_rows ON flashcard_reviews;
ALTER TABLE flashcard_reviews DISABLE ROW LEVEL SECURITY;

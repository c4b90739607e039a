DROP VIEW course_roster_entries;
DROP VIEW course_card_facts;

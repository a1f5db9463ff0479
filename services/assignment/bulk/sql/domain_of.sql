-- normalise_domain (services/assignment/accounts/domains.py) in SQL, as the bulk validation
-- applies it: the host of a URL or the part after an e-mail's @, lower case, no port, trailing dot
-- or www. Not checked here (see bulk/staging.py _DOMAIN); internationalised names are not
-- converted to punycode, so they fail that check. tests/assignment/test_bulk.py
-- test_sql_normalisation_agrees_with_the_single_path holds the two to the same answers.
-- Loaded by the migration 20b1bebcae2d; a change here needs a migration that reloads it.
CREATE OR REPLACE FUNCTION assignment_bulk.domain_of(p_value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    t text := lower(regexp_replace(p_value, '^\s+|\s+$', '', 'g'));
BEGIN
    IF strpos(t, '@') > 0 AND strpos(t, '://') = 0 THEN
        t := substring(t from '@([^@]*)$');
    END IF;
    IF strpos(t, '://') > 0 THEN
        t := regexp_replace(regexp_replace(substring(t from '://([^/?#]*)'), '^.*@', ''),
                            ':[0-9]*$', '');
    ELSIF strpos(t, '/') > 0 THEN
        t := regexp_replace(regexp_replace(split_part(t, '/', 1), '^.*@', ''), ':[0-9]*$', '');
    ELSE
        t := split_part(t, ':', 1);
    END IF;
    RETURN regexp_replace(rtrim(t, '.'), '^www\.', '');
END;
$fn$;

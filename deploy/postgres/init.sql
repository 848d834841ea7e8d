-- A database per service (docker-compose; deploy/postgres/pg.sh does the same locally).
CREATE DATABASE policy;
CREATE DATABASE billing;
CREATE DATABASE claims;
CREATE DATABASE documents;
CREATE DATABASE identity;
CREATE DATABASE portal;
CREATE DATABASE keystore;

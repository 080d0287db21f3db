-- A project page lists every release of the project (Catalog.ProjectHistory)
-- without reading their rows, whose metadata (a README each) spreads 2,000
-- releases over thousands of pages: this index covers the columns it reads.
CREATE INDEX releases_history ON releases (project_id, canonical, version, yanked, yanked_reason, created_at, id);

-- The reference's own sorted values per numerical feature, kept when the reference is small
-- (up to 10,000 values), so the monitor computes the Kolmogorov-Smirnov statistic exactly instead
-- of reading it off the fine histogram. Empty for larger references and for categorical features.
ALTER TABLE reference_profiles ADD COLUMN IF NOT EXISTS sample Array(Float64) DEFAULT [];

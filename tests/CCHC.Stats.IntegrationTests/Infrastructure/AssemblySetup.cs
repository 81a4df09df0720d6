
[assembly: AssemblyFixture(typeof(StatsApp))]

// Two cores: one host, one PostgreSQL, and at most two test classes at a time.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]

using CCHC.Stats.Api.Counters;
using CsCheck;

namespace CCHC.Stats.Tests;

public sealed class VisitTests
{
    private static readonly DateTimeOffset Nine = new(2026, 11, 29, 9, 0, 0, TimeSpan.FromHours(7));

    [Fact]
    public void views_under_30_minutes_apart_are_one_visit()
    {
        var day = new VisitorDay();

        var first = day.Add(Nine);
        var second = day.Add(Nine.AddMinutes(29));

        Assert.Equal(1, first.VisitDelta);
        Assert.True(first.NewVisitor);
        Assert.Equal(0, second.VisitDelta);
        Assert.False(second.NewVisitor);
    }

    [Fact]
    public void a_gap_of_exactly_30_minutes_starts_a_new_visit()
    {
        var day = new VisitorDay();
        day.Add(Nine);

        Assert.Equal(1, day.Add(Nine.AddMinutes(30)).VisitDelta);
        Assert.Equal(2, day.Runs.Count);
    }

    [Fact]
    public void a_late_view_between_two_visits_joins_them()
    {
        var day = new VisitorDay();
        day.Add(Nine);
        day.Add(Nine.AddMinutes(50));

        var bridge = day.Add(Nine.AddMinutes(25));

        Assert.Equal(-1, bridge.VisitDelta);
        Assert.Single(day.Runs);
    }

    [Fact]
    public void a_late_view_just_before_a_visit_moves_its_start()
    {
        var day = new VisitorDay();
        day.Add(Nine);

        var earlier = day.Add(Nine.AddMinutes(-10));

        Assert.Equal(0, earlier.VisitDelta);
        Assert.Equal(Nine.AddMinutes(-10), earlier.VisitStarted);
        Assert.Equal(Nine, earlier.VisitEnded);
        Assert.Equal(Nine.AddMinutes(-10), day.Runs[0].First);
    }

    [Fact]
    public void the_same_view_time_twice_is_one_visit()
    {
        var day = new VisitorDay();
        day.Add(Nine);

        Assert.Equal(0, day.Add(Nine).VisitDelta);
    }

    /// <summary>The contract's rule, computed the plain way: sort, and count gaps of 30 minutes or more.</summary>
    private static int ReferenceVisits(IEnumerable<DateTimeOffset> views)
    {
        var sorted = views.Order().ToList();
        return sorted.Count == 0 ? 0 : 1 + sorted.Zip(sorted.Skip(1)).Count(p => p.Second - p.First >= TimeSpan.FromMinutes(30));
    }

    [Fact]
    public void visits_do_not_depend_on_the_order_views_arrive_in()
    {
        var random = new Random(42);
        for (var trial = 0; trial < 500; trial++)
        {
            var views = Enumerable.Range(0, random.Next(1, 40))
                .Select(_ => Nine.AddMinutes(random.Next(0, 600)).AddSeconds(random.Next(0, 60)))
                .ToList();
            var shuffled = views.OrderBy(_ => random.Next()).ToList();
            var day = new VisitorDay();

            var effects = shuffled.Select(at => day.Add(at)).ToList();
            var visits = effects.Sum(e => e.VisitDelta);
            var newVisitors = effects.Count(e => e.NewVisitor);

            Assert.Equal(ReferenceVisits(views), visits);
            Assert.Equal(ReferenceVisits(views), day.Runs.Count);
            Assert.Equal(1, newVisitors);
            Assert.Equal(views.Max(), day.LastSeen);
        }
    }

    [Fact]
    public void visit_starts_reported_by_each_view_add_up_to_the_final_starts()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 300; trial++)
        {
            var day = new VisitorDay();
            var starts = new Dictionary<DateTimeOffset, int>();
            foreach (var view in Enumerable.Range(0, random.Next(1, 30)).Select(_ => Nine.AddMinutes(random.Next(0, 300))))
            {
                var effect = day.Add(view);
                if (effect.VisitStarted is { } s)
                {
                    starts[s] = starts.GetValueOrDefault(s) + 1;
                }

                foreach (var ended in new[] { effect.VisitEnded, effect.SecondEnded })
                {
                    if (ended is { } e)
                    {
                        starts[e] = starts.GetValueOrDefault(e) - 1;
                    }
                }
            }

            Assert.Equal(day.Runs.Select(r => r.First).Order(), starts.Where(p => p.Value != 0).Select(p => p.Key).Order());
            Assert.All(starts.Values, n => Assert.InRange(n, 0, 1));
        }
    }

    [Fact]
    public void visits_come_back_from_storage_as_they_were_stored()
    {
        // Moments in the offsets sites are seen with (the engine keys hours by the local time): Hanoi, UTC, India, Nepal, Newfoundland.
        var moment = Gen.Select(Gen.Long[DateTimeOffset.UnixEpoch.UtcTicks, new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks],
                Gen.Int[0, 4].Select(i => new[] { 420, 0, 330, 345, -150 }[i]))
            .Select((t, offset) => new DateTimeOffset(t, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offset)));
        // Sources are host names and the names of known sources, in ASCII and not, up to a few hundred bytes.
        var letters = Gen.Char["abcxyz0123456789.-áđệữ"];
        var source = Gen.OneOf(Gen.Const(default(string)), Gen.Const((string?)""), letters.Array[1, 30].Select(c => (string?)new string(c)),
            letters.Array[100, 300].Select(c => (string?)new string(c)));
        var run = Gen.Select(moment, Gen.Long[0, TimeSpan.TicksPerDay], source).Select((first, length, from) => new VisitRun(first, first.AddTicks(length), from));
        static object Exactly(VisitRun r) => (r.First.DateTime, r.First.Offset, r.Last.DateTime, r.Last.Offset, r.Source);
        run.List[1, 6].Sample(runs => Assert.Equal(runs.Select(Exactly), VisitorDayStore.UnpackRuns(VisitorDayStore.PackRuns(runs)).Select(Exactly)));
    }
}

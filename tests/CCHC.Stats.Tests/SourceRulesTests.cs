using System.Text.RegularExpressions;

namespace CCHC.Stats.Tests;

/// <summary>Rules about how the service's code is written that a reviewer would otherwise have to remember.</summary>
public sealed partial class SourceRulesTests
{
    /// <summary>
    /// Time comes from <see cref="TimeProvider"/> everywhere in <c>services/</c>: a clock read any other way
    /// cannot be driven by <c>FakeTimeProvider</c> in a boundary test.
    /// </summary>
    [Fact]
    public void services_read_time_only_through_TimeProvider()
    {
        var services = Path.Combine(Repository.Root, "services");
        var offenders = Directory.EnumerateFiles(services, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")
                           && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")
                           && !file.Contains($"{Path.DirectorySeparatorChar}Generated{Path.DirectorySeparatorChar}"))
            .SelectMany(file => File.ReadLines(file).Select((line, index) => (file, line, number: index + 1)))
            .Where(hit => DirectClock().IsMatch(hit.line))
            .Select(hit => $"{Path.GetRelativePath(Repository.Root, hit.file)}:{hit.number}: {hit.line.Trim()}")
            .ToList();

        Assert.True(offenders.Count == 0, "Read the clock through TimeProvider:\n" + string.Join("\n", offenders));
    }

    [GeneratedRegex(@"\bDateTime(Offset)?\.(UtcNow|Now|Today)\b|\bStopwatch\b|\bEnvironment\.TickCount")]
    private static partial Regex DirectClock();
}

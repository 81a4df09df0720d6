using System.Diagnostics;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// The RabbitMQ broker of the rabbitmq transport's tests: Debian's <c>rabbitmq-server</c> as a plain process on
/// loopback, started (and restarted mid-load) with <c>deploy/local/rabbitmq.sh</c>, the script <c>.ci/run</c>
/// uses. Each test gets a virtual host of its own, so tests running side by side never consume each other's views.
/// </summary>
public static class RabbitBroker
{
    public const int Port = 5673;

    /// <summary>
    /// The tests that use the broker run one after another: one of them restarts it, and another test's
    /// broker commands or connections must not fall into that window.
    /// </summary>
    public const string Collection = "RabbitMQ broker";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _started;

    /// <summary>Starts the broker if it does not run yet and answers the address of a new, empty virtual host.</summary>
    public static async Task<string> VirtualHostAsync(string name)
    {
        await Gate.WaitAsync();
        try
        {
            if (!_started)
            {
                await ScriptAsync("start");
                await UnblockPublishersAsync(); // a run stopped mid-test may have left the broker blocked (it keeps running)
                _started = true;
            }
        }
        finally
        {
            Gate.Release();
        }

        await CtlAsync("add_vhost", name);
        await CtlAsync("set_permissions", "-p", name, "guest", ".*", ".*", ".*");
        return $"amqp://guest:guest@127.0.0.1:{Port}/{name}";
    }

    /// <summary>Stops the broker and starts it again on the same data (queues and their messages survive).</summary>
    public static Task RestartAsync() => ScriptAsync("restart");

    /// <summary>
    /// Sets off the broker's memory alarm (a high watermark of 0): it blocks every publishing connection, reading and
    /// confirming nothing they send, as a broker out of memory or disk does. <see cref="UnblockPublishersAsync"/> ends it.
    /// </summary>
    public static Task BlockPublishersAsync() => CtlAsync("set_vm_memory_high_watermark", "0");

    /// <summary>Back to the broker's default watermark (0.4 of the memory): publishers are read and confirmed again.</summary>
    public static Task UnblockPublishersAsync() => CtlAsync("set_vm_memory_high_watermark", "0.4");

    /// <summary>Messages ready or unacknowledged in a queue of a virtual host; null if there is no such queue.</summary>
    public static Task<long?> MessagesAsync(string virtualHost, string queue) => QueueFigureAsync(virtualHost, queue, "messages");

    /// <summary>Consumers subscribed to a queue of a virtual host; null if there is no such queue.</summary>
    public static Task<long?> ConsumersAsync(string virtualHost, string queue) => QueueFigureAsync(virtualHost, queue, "consumers");

    private static async Task<long?> QueueFigureAsync(string virtualHost, string queue, string figure)
    {
        var output = await CtlAsync("list_queues", "-p", virtualHost, "--no-table-headers", "--quiet", "name", figure);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t', StringSplitOptions.TrimEntries))
            .Where(columns => columns.Length == 2 && columns[0] == queue)
            .Select(columns => (long?)long.Parse(columns[1]))
            .FirstOrDefault();
    }

    private static Task<string> ScriptAsync(string command) =>
        RunAsync("bash", [Path.Combine(ServiceProcess.RepositoryRoot(), "deploy", "local", "rabbitmq.sh"), command]);

    private static Task<string> CtlAsync(params string[] arguments) =>
        RunAsync(File.Exists("/usr/sbin/rabbitmqctl") ? "/usr/sbin/rabbitmqctl" : "rabbitmqctl", ["-n", $"cchc{Port}@localhost", .. arguments]);

    private static async Task<string> RunAsync(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CCHC_RABBITMQ_PORT"] = Port.ToString();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not run {program}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}). The rabbitmq transport's tests need Debian's " +
                $"rabbitmq-server (apt-get install rabbitmq-server; deploy/local/rabbitmq.sh installs it when run as root).\n{await output}\n{await error}");
        }

        return await output;
    }
}

[CollectionDefinition(RabbitBroker.Collection)]
public sealed class RabbitBrokerCollection;

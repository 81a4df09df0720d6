using System.Reflection;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using YamlDotNet.RepresentationModel;

namespace CCHC.Stats.Tests;

/// <summary>
/// deploy/kubernetes and deploy/compose.yaml parse, refer to each other consistently (labels, ports, names), probe
/// the service's real health endpoints and set only settings the service reads. No cluster here: this is the check.
/// </summary>
public sealed class DeploymentManifestTests
{
    private static readonly string Deploy = Path.Combine(Repository.Root, "deploy");

    [Fact]
    public void every_manifest_is_listed_in_the_kustomization_and_names_its_kind()
    {
        var folder = Path.Combine(Deploy, "kubernetes");
        var kustomization = Load(Path.Combine(folder, "kustomization.yaml")).Single();
        var listed = Sequence(kustomization, "resources").Select(n => n.ToString()).ToHashSet();
        var files = Directory.GetFiles(folder, "*.yaml").Select(f => Path.GetFileName(f)).Where(f => f != "kustomization.yaml").ToHashSet();

        Assert.Equal(files, listed);
        Assert.All(Manifests(), m =>
        {
            Assert.False(string.IsNullOrEmpty(Scalar(m, "apiVersion")));
            Assert.False(string.IsNullOrEmpty(Scalar(m, "kind")));
            Assert.False(string.IsNullOrEmpty(Scalar(m, "metadata", "name")));
        });
    }

    [Fact]
    public void the_deployment_probes_the_health_endpoints_and_takes_its_settings_from_the_config_map_and_secret()
    {
        var deployment = Kind("Deployment");
        var pod = Mapping(deployment, "spec", "template");
        var container = Sequence(pod, "spec", "containers").Cast<YamlMappingNode>().Single();
        var ports = Sequence(container, "ports").Cast<YamlMappingNode>().ToDictionary(p => Scalar(p, "name"), p => Scalar(p, "containerPort"));

        Assert.True(int.Parse(Scalar(deployment, "spec", "replicas")) >= 3);
        Assert.Equal(Labels(Mapping(deployment, "spec", "selector", "matchLabels")), Labels(Mapping(pod, "metadata", "labels")));
        Assert.Equal("8080", ports["http"]);
        Assert.Equal(OperationsModule.ServingPath, Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal(OperationsModule.LivePath, Scalar(container, "livenessProbe", "httpGet", "path"));
        Assert.Contains(Scalar(container, "readinessProbe", "httpGet", "port"), ports.Keys);
        Assert.Contains(Scalar(container, "livenessProbe", "httpGet", "port"), ports.Keys);

        var sources = Sequence(container, "envFrom").Cast<YamlMappingNode>().ToList();
        Assert.Contains(sources, s => s.Children.ContainsKey("configMapRef") && Scalar(s, "configMapRef", "name") == Scalar(Kind("ConfigMap"), "metadata", "name"));
        Assert.Contains(sources, s => s.Children.ContainsKey("secretRef") && Scalar(s, "secretRef", "name") == Scalar(Kind("Secret"), "metadata", "name"));
    }

    [Fact]
    public void the_service_autoscaler_and_disruption_budget_point_at_the_deployment()
    {
        var deployment = Kind("Deployment");
        var podLabels = Labels(Mapping(deployment, "spec", "template", "metadata", "labels"));
        var container = Sequence(deployment, "spec", "template", "spec", "containers").Cast<YamlMappingNode>().Single();
        var portNames = Sequence(container, "ports").Cast<YamlMappingNode>().Select(p => Scalar(p, "name")).ToList();

        var service = Kind("Service");
        Assert.Equal(podLabels, Labels(Mapping(service, "spec", "selector")));
        Assert.All(Sequence(service, "spec", "ports").Cast<YamlMappingNode>(), p => Assert.Contains(Scalar(p, "targetPort"), portNames));

        var autoscaler = Kind("HorizontalPodAutoscaler");
        Assert.Equal("Deployment", Scalar(autoscaler, "spec", "scaleTargetRef", "kind"));
        Assert.Equal(Scalar(deployment, "metadata", "name"), Scalar(autoscaler, "spec", "scaleTargetRef", "name"));
        Assert.True(int.Parse(Scalar(autoscaler, "spec", "minReplicas")) >= 2);
        Assert.True(int.Parse(Scalar(autoscaler, "spec", "maxReplicas")) >= int.Parse(Scalar(autoscaler, "spec", "minReplicas")));

        var budget = Kind("PodDisruptionBudget");
        Assert.Equal(podLabels, Labels(Mapping(budget, "spec", "selector", "matchLabels")));
    }

    [Fact]
    public void kubernetes_sets_only_settings_the_service_reads_and_everything_rabbitmq_needs()
    {
        var settings = Labels(Mapping(Kind("ConfigMap"), "data"))
            .Concat(Labels(Mapping(Kind("Secret"), "stringData")))
            .ToDictionary();

        AssertKnown(settings);
        Assert.Equal("rabbitmq", settings["Stats__Transport"]);
        Assert.StartsWith("amqp://", settings["ConnectionStrings__RabbitMq"]);
        Assert.Contains("Host=", settings["ConnectionStrings__Postgres"]);
    }

    [Fact]
    public void compose_runs_three_replicas_on_rabbitmq_behind_the_load_balancer_it_trusts()
    {
        var compose = Load(Path.Combine(Deploy, "compose.yaml")).Single();
        var services = Mapping(compose, "services");
        var stats = Mapping(services, "stats");
        var settings = Labels(Mapping(stats, "environment"));

        Assert.Equal("3", Scalar(stats, "deploy", "replicas"));
        AssertKnown(settings);
        Assert.Equal("rabbitmq", settings["Stats__Transport"]);
        Assert.True(services.Children.ContainsKey("rabbitmq") && services.Children.ContainsKey("postgres"));
        Assert.Equal(settings["Stats__TrustedProxies"], Scalar(services, "lb", "networks", "default", "ipv4_address"));
        Assert.Contains("X-Forwarded-For $http_x_forwarded_for", File.ReadAllText(Path.Combine(Deploy, "nginx", "nginx.conf")));
        Assert.Contains("proxy_pass $stats", File.ReadAllText(Path.Combine(Deploy, "nginx", "nginx.conf")));
        Assert.Contains("http://stats:8080", File.ReadAllText(Path.Combine(Deploy, "nginx", "nginx.conf")));
    }

    [Fact]
    public void the_pods_run_unprivileged_from_a_released_image_on_a_read_only_root()
    {
        var pod = Mapping(Kind("Deployment"), "spec", "template", "spec");
        var container = Sequence(pod, "containers").Cast<YamlMappingNode>().Single();
        var image = Scalar(container, "image");
        var tag = image[(image.LastIndexOf(':') + 1)..];

        Assert.Matches(@"^\d+\.\d+\.\d+$", tag);
        Assert.Equal(tag, Scalar(Sequence(Load(Path.Combine(Deploy, "kubernetes", "kustomization.yaml")).Single(), "images")[0], "newTag"));
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));
        Assert.NotEqual("0", Scalar(pod, "securityContext", "runAsUser"));
        Assert.Equal("false", Scalar(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.Equal("true", Scalar(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("ALL", Sequence(container, "securityContext", "capabilities", "drop")[0].ToString());
        var tmp = Sequence(container, "volumeMounts").Cast<YamlMappingNode>().Single(m => Scalar(m, "mountPath") == "/tmp");
        Assert.Contains(Sequence(pod, "volumes").Cast<YamlMappingNode>(), v => Scalar(v, "name") == Scalar(tmp, "name") && v.Children.ContainsKey("emptyDir"));

        // The exec form works on every supported version; the sleep action is 1.30+ only.
        Assert.Equal(["sleep", "5"], Sequence(container, "lifecycle", "preStop", "exec", "command").Select(n => n.ToString()));
    }

    [Fact]
    public void https_comes_in_through_the_ingress_and_only_from_it_and_monitoring()
    {
        var service = Kind("Service");
        var ingress = Kind("Ingress");
        var tls = Sequence(ingress, "spec", "tls").Cast<YamlMappingNode>().Single();
        var rule = Sequence(ingress, "spec", "rules").Cast<YamlMappingNode>().Single();
        var backend = Mapping(Sequence(rule, "http", "paths")[0], "backend", "service");

        Assert.Equal(Scalar(rule, "host"), Sequence(tls, "hosts")[0].ToString());
        Assert.False(string.IsNullOrEmpty(Scalar(tls, "secretName")));
        Assert.Equal(Scalar(service, "metadata", "name"), Scalar(backend, "name"));
        Assert.Contains(Scalar(backend, "port", "name"), Sequence(service, "spec", "ports").Cast<YamlMappingNode>().Select(p => Scalar(p, "name")));

        var policy = Kind("NetworkPolicy");
        Assert.Equal(Labels(Mapping(Kind("Deployment"), "spec", "template", "metadata", "labels")), Labels(Mapping(policy, "spec", "podSelector", "matchLabels")));
        var sources = Sequence(Sequence(policy, "spec", "ingress")[0], "from").Cast<YamlMappingNode>()
            .Select(f => Scalar(f, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")).ToList();
        Assert.Equal(["ingress-nginx", "monitoring"], sources);

        // Only the ingress controller's X-Forwarded-For is believed: a narrow network, not the cluster's whole range.
        var trusted = Labels(Mapping(Kind("ConfigMap"), "data"))["Stats__TrustedProxies"];
        Assert.All(trusted.Split(','), entry => Assert.True(!entry.Contains('/') || int.Parse(entry.Split('/')[1]) >= 16, $"{entry} is too wide"));
    }

    [Fact]
    public void compose_restarts_everything_has_no_default_secrets_and_publishes_only_tls_to_the_world()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "compose.yaml"));
        var services = Mapping(Load(Path.Combine(Deploy, "compose.yaml")).Single(), "services");

        Assert.All(services.Children, s => Assert.Equal("unless-stopped", Scalar(s.Value, "restart")));
        Assert.DoesNotMatch(@"(PASSWORD|KEY)[A-Z_]*:-", text);
        Assert.DoesNotContain("admin/admin", text);
        var published = services.Children
            .Where(s => ((YamlMappingNode)s.Value).Children.ContainsKey("ports"))
            .SelectMany(s => Sequence(s.Value, "ports").Select(p => (Service: s.Key.ToString(), Port: p.ToString())))
            .ToList();
        Assert.All(published.Where(p => !p.Port.StartsWith("127.0.0.1:")), p => Assert.Equal("caddy", p.Service));
        Assert.Contains(published, p => p.Service == "caddy" && p.Port == "443:443");
        Assert.Contains("reverse_proxy lb:8080", File.ReadAllText(Path.Combine(Deploy, "caddy", "Caddyfile")));

        // The balancer's fixed address lies in the subnet but outside the range Docker hands out.
        var pool = Sequence(Load(Path.Combine(Deploy, "compose.yaml")).Single(), "networks", "default", "ipam", "config").Cast<YamlMappingNode>().Single();
        var lb = System.Net.IPAddress.Parse(Scalar(services, "lb", "networks", "default", "ipv4_address"));
        Assert.True(System.Net.IPNetwork.Parse(Scalar(pool, "subnet")).Contains(lb));
        Assert.False(System.Net.IPNetwork.Parse(Scalar(pool, "ip_range")).Contains(lb));

        var example = File.ReadAllText(Path.Combine(Deploy, ".env.example"));
        foreach (var variable in System.Text.RegularExpressions.Regex.Matches(text, @"\$\{([A-Z_]+):\?").Select(m => m.Groups[1].Value).Distinct())
        {
            Assert.Contains($"{variable}=", example);
        }
    }

    [Fact]
    public void the_image_is_pinned_runs_as_a_user_and_leaves_local_data_out()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(Deploy, "Dockerfile"));
        var ignored = File.ReadAllLines(Path.Combine(Repository.Root, ".dockerignore"));

        Assert.All(dockerfile.Where(l => l.StartsWith("FROM ")), l => Assert.Matches(@"^FROM \S+:\d+\.\d+\.\d+\S*( AS \w+)?$", l));
        Assert.Contains(dockerfile, l => l.StartsWith("USER ") && l != "USER root" && l != "USER 0");
        Assert.Contains("**/.data/", ignored);
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.Contains("deploy/.env", ignored);
    }

    /// <summary>Connection strings, OpenTelemetry's own variables, or a property of <see cref="StatsOptions"/>.</summary>
    private static void AssertKnown(IReadOnlyDictionary<string, string> settings)
    {
        var options = typeof(StatsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => $"{StatsOptions.Section}__{p.Name}").Append("Stats__TrustedProxies").ToHashSet();
        Assert.All(settings.Keys, key => Assert.True(
            key is "ConnectionStrings__Postgres" or "ConnectionStrings__RabbitMq" || key.StartsWith("OTEL_") || options.Contains(key),
            $"{key} is not a setting the service reads"));
    }

    private static IEnumerable<YamlMappingNode> Manifests() =>
        Directory.GetFiles(Path.Combine(Deploy, "kubernetes"), "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .SelectMany(Load);

    private static YamlMappingNode Kind(string kind) => Manifests().Single(m => Scalar(m, "kind") == kind);

    private static IEnumerable<YamlMappingNode> Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static YamlNode Node(YamlNode node, params string[] path) =>
        path.Aggregate(node, (current, key) => ((YamlMappingNode)current).Children[new YamlScalarNode(key)]);

    private static YamlMappingNode Mapping(YamlNode node, params string[] path) => (YamlMappingNode)Node(node, path);

    private static YamlSequenceNode Sequence(YamlNode node, params string[] path) => (YamlSequenceNode)Node(node, path);

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value ?? "";

    private static Dictionary<string, string> Labels(YamlMappingNode node) =>
        node.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? "");
}

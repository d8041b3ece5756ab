using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>The AppHost as its own process, from its own build output (the configuration the tests were built in).</summary>
public static class AppHostProcess
{
    public static string Directory => Projects.ChatBackend_AppHost.ProjectPath;

    // The tests run from bin/{Configuration}/{TargetFramework}; the AppHost was built beside them in the same one.
    public static string Dll
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            return Path.Combine(Directory, "bin", framework.Parent!.Name, framework.Name, "ChatBackend.AppHost.dll");
        }
    }

    /// <summary><c>dotnet ChatBackend.AppHost.dll</c> in the AppHost's folder, its output redirected.</summary>
    public static ProcessStartInfo StartInfo() => Redirected(new ProcessStartInfo("dotnet") { WorkingDirectory = Directory, ArgumentList = { Dll } });

    /// <summary>
    /// <paramref name="command"/> as a terminal runs it, its output redirected: in a session of its own (its process
    /// group is its own, and Ctrl+C signals that group) with every signal's default action. A non-interactive shell's
    /// background job (as CI may run the tests) ignores SIGINT, every process started from it inherits that, and .NET
    /// leaves an ignored SIGINT ignored: Ctrl+C would then stop nothing.
    /// </summary>
    public static ProcessStartInfo InATerminalSession(string workingDirectory, params IEnumerable<string> command)
    {
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = workingDirectory, ArgumentList = { "env", "--default-signal" } };
        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }
        return Redirected(start);
    }

    private static ProcessStartInfo Redirected(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        return start;
    }

    /// <summary>The launch profile's settings (Development, the dashboard on plain http), on free loopback ports of its own.</summary>
    public static ProcessStartInfo WithLaunchProfile(this ProcessStartInfo start)
    {
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["ASPNETCORE_URLS"] = $"http://localhost:{FreePort()}";
        start.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        start.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        start.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        start.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        return start;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

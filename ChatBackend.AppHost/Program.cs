// The distributed application's entry point. Its hosting layer (MySQL, the migrator and the API started and watched
// the Aspire way, with or without a container runtime) is the subject of its own issue; until it lands, ./run.sh
// starts the same three parts with the same environment contract.
Console.Error.WriteLine("The AppHost does not orchestrate the system yet: run ./run.sh from the repository root.");
return 1;

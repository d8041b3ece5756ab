global using Aspire.Hosting;
